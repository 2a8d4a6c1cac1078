import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { Config } from "../config.js";

/** A PEM certificate chain and its private key. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads SWITCHBOARD_TLS_CERT and SWITCHBOARD_TLS_KEY (null when unset) and
 * checks that they make a usable pair, so a bad file stops the start with
 * a message naming it instead of failing each handshake later.
 */
export function readTls(config: Pick<Config, "SWITCHBOARD_TLS_CERT" | "SWITCHBOARD_TLS_KEY">): TlsFiles | null {
  if (!config.SWITCHBOARD_TLS_CERT || !config.SWITCHBOARD_TLS_KEY) return null;
  const files = { cert: read("SWITCHBOARD_TLS_CERT", config.SWITCHBOARD_TLS_CERT), key: read("SWITCHBOARD_TLS_KEY", config.SWITCHBOARD_TLS_KEY) };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new Error(`SWITCHBOARD_TLS_CERT and SWITCHBOARD_TLS_KEY are not a usable PEM certificate and its key: ${(err as Error).message}`);
  }
  return files;
}

function read(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${variable} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
