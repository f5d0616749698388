/**
 * Every cache backend the gateway can open. Each file registers its URL schemes when imported;
 * a new backend is one file plus its line here.
 */
import "./memory.ts";
import "./denokv.ts";
import "./upstash.ts";

export { type CacheBackend, knownSchemes, openBackend } from "./backend.ts";
