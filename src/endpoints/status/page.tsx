/**
 * The status page as server-rendered HTML (Hono JSX): inline CSS and SVG, no script, no
 * external asset, so it reads the same in any browser, a terminal browser or a screenshot.
 */
import type { FC } from "hono/jsx";
import type {
  ClientStatus,
  InstallationStatus,
  MinuteStatus,
  OwnerStatus,
  SharedStateStatus,
  StatusData,
  WebhookStatus,
} from "./data.ts";
import { REFUSAL_REASONS } from "../../admit/state.ts";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:16px 24px;color:#1f2328;background:#f6f8fa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin-bottom:16px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2}
th{font-weight:600;color:#57606a}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{vertical-align:middle}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;margin-left:6px}
.bad{background:#ffebe9;color:#cf222e}.warn{background:#fff8c5;color:#7d4e00}.ok{background:#dafbe1;color:#116329}
.muted{color:#57606a}.owner{margin-bottom:12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
`;

const pct = (part: number, whole: number) => whole <= 0 ? 0 : Math.round((part / whole) * 100);

/** "4m 05s" for a countdown. */
export function countdown(seconds: number): string {
  if (seconds <= 0) return "now";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}h ${pad(m)}m` : m > 0 ? `${m}m ${pad(s)}s` : `${s}s`;
}

/** "1.2 MB" for a byte count. */
export function byteSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const BAR = { width: 160, height: 10 };

/** A bar of `value` out of `max` in SVG: red under 10 %, amber under 30 %, green above. */
const Bar: FC<{ value: number; max: number; label: string }> = ({ value, max, label }) => {
  const share = pct(Math.max(0, value), max);
  const color = share < 10 ? "#cf222e" : share < 30 ? "#bf8700" : "#2da44e";
  return (
    <svg class="bar" width={BAR.width} height={BAR.height} role="img" aria-label={label}>
      <title>{label}</title>
      <rect width={BAR.width} height={BAR.height} rx="5" fill="#eaeef2" />
      <rect width={(BAR.width * share) / 100} height={BAR.height} rx="5" fill={color} />
    </svg>
  );
};

const Owner: FC<{ owner: OwnerStatus }> = ({ owner }) => (
  <div class="owner" data-owner={owner.name}>
    <strong>{owner.name}</strong>
    {owner.coolingDownSeconds > 0
      ? (
        <span class="badge warn cooling">
          cooling down {countdown(owner.coolingDownSeconds)}
        </span>
      )
      : null}
    {owner.credentials.map((credential) => (
      <span
        class={`badge ${credential.bad || credential.restingSeconds > 0 ? "bad" : "ok"}`}
        data-credential={credential.name}
      >
        {credential.name} ({credential.kind}){credential.bad ? " bad" : ""}
        {credential.restingSeconds > 0 ? ` resting ${countdown(credential.restingSeconds)}` : ""}
      </span>
    ))}
    <span class="muted">in flight {owner.inFlight}, queued {owner.queued}</span>
    {owner.resources.length === 0
      ? <p class="muted">GitHub has not reported a quota yet.</p>
      : (
        <table>
          <tr>
            <th>resource</th>
            <th>remaining</th>
            <th class="n">left</th>
            <th class="n">limit</th>
            <th>resets in</th>
            <th></th>
          </tr>
          {owner.resources.map((resource) => (
            <tr data-resource={resource.resource}>
              <td>{resource.resource}</td>
              <td>
                <Bar
                  value={resource.remaining}
                  max={resource.limit}
                  label={`${resource.remaining} of ${resource.limit}`}
                />
              </td>
              <td class="n remaining">{resource.remaining}</td>
              <td class="n limit">{resource.limit}</td>
              <td>{countdown(resource.resetInSeconds)}</td>
              <td>{resource.parked ? <span class="badge warn parked">parked</span> : null}</td>
            </tr>
          ))}
        </table>
      )}
  </div>
);

const Clients: FC<{ clients: readonly ClientStatus[] }> = ({ clients }) => (
  <table>
    <tr>
      <th>client</th>
      <th>priority</th>
      <th class="n">requests</th>
      <th class="n">points spent</th>
      <th class="n">points saved</th>
      <th>budget used</th>
      {REFUSAL_REASONS.map((reason) => <th class="n" key={reason}>refused: {reason}</th>)}
    </tr>
    {clients.map((client) => (
      <tr data-client={client.name}>
        <td>{client.name}</td>
        <td>{client.priority}</td>
        <td class="n requests">{client.requests}</td>
        <td class="n spent">{client.pointsSpent}</td>
        <td class="n saved">{client.pointsSaved}</td>
        <td>
          {client.budget
            ? (
              <>
                <Bar
                  value={client.budget.limit - client.budget.used}
                  max={client.budget.limit}
                  label={`${client.budget.used} of ${client.budget.limit} used`}
                />{" "}
                <span class="budget">{client.budget.used} / {client.budget.limit}</span>
              </>
            )
            : <span class="muted">no budget</span>}
        </td>
        {REFUSAL_REASONS.map((reason) => (
          <td class={`n refused-${reason}`}>{client.refused[reason]}</td>
        ))}
      </tr>
    ))}
  </table>
);

const CHART = { width: 720, height: 160, top: 10, bottom: 20 };

/** Points spent (bars) and saved (bars beside them) per minute, the last 60 minutes. */
const Chart: FC<{ history: readonly MinuteStatus[] }> = ({ history }) => {
  const max = Math.max(1, ...history.map((m) => Math.max(m.spent, m.saved)));
  const slot = CHART.width / Math.max(1, history.length);
  const plot = CHART.height - CHART.top - CHART.bottom;
  const y = (value: number) => CHART.top + plot - (value / max) * plot;
  const total = (key: "spent" | "saved") => history.reduce((sum, m) => sum + m[key], 0);
  return (
    <figure>
      <svg
        id="points-chart"
        width={CHART.width}
        height={CHART.height}
        viewBox={`0 0 ${CHART.width} ${CHART.height}`}
        role="img"
        aria-label={`points spent ${total("spent")}, saved ${total("saved")} in the last hour`}
      >
        <line
          x1="0"
          x2={CHART.width}
          y1={y(0)}
          y2={y(0)}
          stroke="#d0d7de"
        />
        <text x="2" y={CHART.top + 8} font-size="10" fill="#57606a">{max}</text>
        {history.map((minute, index) => (
          <g>
            <title>
              {minute.minute}: spent {minute.spent}, saved {minute.saved}
            </title>
            <rect
              class="spent"
              x={index * slot + 1}
              width={slot / 2 - 1}
              y={y(minute.spent)}
              height={y(0) - y(minute.spent)}
              fill="#cf222e"
            />
            <rect
              class="saved"
              x={index * slot + slot / 2}
              width={slot / 2 - 1}
              y={y(minute.saved)}
              height={y(0) - y(minute.saved)}
              fill="#2da44e"
            />
          </g>
        ))}
        <text x="2" y={CHART.height - 4} font-size="10" fill="#57606a">−60 min</text>
        <text x={CHART.width - 30} y={CHART.height - 4} font-size="10" fill="#57606a">now</text>
      </svg>
      <figcaption class="legend">
        <span style="background:#cf222e"></span>points spent{" "}
        <strong id="spent-total">{total("spent")}</strong>
        <span style="background:#2da44e"></span>points saved{" "}
        <strong id="saved-total">{total("saved")}</strong> (last 60 minutes)
      </figcaption>
    </figure>
  );
};

const Installations: FC<{ installations: readonly InstallationStatus[] }> = (
  { installations },
) => (
  <section id="installations">
    <h2>App installations</h2>
    <table>
      <tr>
        <th>credential</th>
        <th>installation</th>
        <th>account</th>
        <th>repositories</th>
        <th>tokens</th>
      </tr>
      {installations.map((installation) => (
        <tr data-installation={installation.installationId}>
          <td>{installation.credential}</td>
          <td>{installation.installationId}</td>
          <td>{installation.account ?? <span class="muted">unknown</span>}</td>
          <td>{installation.repositorySelection ?? <span class="muted">unknown</span>}</td>
          <td>
            {installation.tokens.length === 0 ? <span class="muted">none cached</span> : null}
            {installation.tokens.map((token) => (
              <div class="token">
                {token.repositories ? `repositories ${token.repositories.join(", ")}` : "all"}
                {token.permissions
                  ? `; ${Object.entries(token.permissions).map(([k, v]) => `${k}:${v}`).join(", ")}`
                  : ""}; expires in {countdown(token.expiresInSeconds)}
              </div>
            ))}
          </td>
        </tr>
      ))}
    </table>
  </section>
);

const Webhooks: FC<{ webhooks: WebhookStatus }> = ({ webhooks }) => (
  <section id="webhooks">
    <h2>Webhooks</h2>
    <p>
      {Object.entries(webhooks.outcomes).map(([outcome, count]) => (
        <span
          class={`badge ${outcome === "failed" || outcome === "queue_full" ? "bad" : "ok"}`}
          data-outcome={outcome}
        >
          {outcome}: {count}
        </span>
      ))}
    </p>
    <table>
      <tr>
        <th>delivery</th>
        <th>event</th>
        <th>received</th>
        <th>outcome</th>
      </tr>
      {webhooks.deliveries.map((delivery) => (
        <tr data-delivery={delivery.id}>
          <td>{delivery.id}</td>
          <td>
            {delivery.action === undefined
              ? delivery.event
              : `${delivery.event}.${delivery.action}`}
            {delivery.repository === undefined
              ? null
              : <span class="muted">{delivery.repository}</span>}
          </td>
          <td>{delivery.receivedAt}</td>
          <td>{delivery.outcome}</td>
        </tr>
      ))}
    </table>
  </section>
);

const SharedState: FC<{ state: SharedStateStatus }> = ({ state }) => (
  <section id="shared-state">
    <h2>Shared state</h2>
    <p>
      {state.backend}
      <span class={`badge ${state.healthy ? "ok" : "bad"}`}>
        {state.healthy ? "healthy" : state.problem ?? "unhealthy"}
      </span>
      {state.replicas === undefined ? null : <span>replicas {state.replicas}</span>}
      {state.lastSyncSecondsAgo === undefined
        ? null
        : <span class="muted">last sync {state.lastSyncSecondsAgo}s ago</span>}
    </p>
  </section>
);

/** The whole page; `refreshSeconds` adds a meta refresh. */
export const StatusPage: FC<{ data: StatusData; refreshSeconds?: number }> = (
  { data, refreshSeconds },
) => {
  const { cache } = data;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
        <title>github-proxy status</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <h1>github-proxy status</h1>
        <p class="muted">
          version {data.version}, at <time id="generated-at">{data.generatedAt}</time>
          {refreshSeconds ? `, refreshes every ${refreshSeconds}s` : ""}
        </p>
        <section id="pool">
          <h2>Credential pool</h2>
          {data.pool.owners.length === 0
            ? <p class="muted">No credential configured: forwarding anonymously.</p>
            : data.pool.owners.map((owner) => <Owner key={owner.name} owner={owner} />)}
        </section>
        <section id="chart">
          <h2>Points spent and saved, last 60 minutes</h2>
          <Chart history={data.history} />
        </section>
        <section id="clients">
          <h2>Clients, last hour</h2>
          <Clients clients={data.clients} />
        </section>
        <section id="cache">
          <h2>Cache</h2>
          <table>
            <tr>
              <th>backend</th>
              <td>
                {cache.backend}
                <span class={`badge ${cache.healthy ? "ok" : "bad"}`} id="cache-health">
                  {cache.healthy ? "healthy" : cache.problem ?? "unhealthy"}
                </span>
              </td>
            </tr>
            <tr>
              <th>hit ratio (last hour)</th>
              <td id="hit-ratio">
                {cache.hitRatio === null
                  ? "no cacheable requests yet"
                  : `${(cache.hitRatio * 100).toFixed(1)} %`}
              </td>
            </tr>
            <tr>
              <th>entries</th>
              <td id="cache-entries">{cache.entries ?? "not reported by this backend"}</td>
            </tr>
            <tr>
              <th>size</th>
              <td id="cache-bytes">
                {cache.bytes === undefined ? "not reported by this backend" : byteSize(cache.bytes)}
              </td>
            </tr>
            <tr>
              <th>backend failures since start</th>
              <td>{cache.failures}</td>
            </tr>
          </table>
        </section>
        {data.installations ? <Installations installations={data.installations} /> : null}
        {data.webhooks ? <Webhooks webhooks={data.webhooks} /> : null}
        {data.sharedState ? <SharedState state={data.sharedState} /> : null}
      </body>
    </html>
  );
};

/** The page as an HTML document. */
export function renderStatusPage(data: StatusData, refreshSeconds?: number): string {
  return `<!DOCTYPE html>${<StatusPage data={data} refreshSeconds={refreshSeconds} />}`;
}
