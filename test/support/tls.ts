import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files. */
export interface TestCertificate {
  certPath: string;
  keyPath: string;
  /** The certificate itself: clients trust it as their only authority. */
  cert: Buffer;
  /** The server's configuration for it. */
  env: { SWITCHBOARD_TLS_CERT: string; SWITCHBOARD_TLS_KEY: string };
}

/** Makes one in `dir` with the openssl command line (a P-256 key, valid for a day). */
export function selfSignedCertificate(dir: string): TestCertificate {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", keyPath, "-out", certPath],
    { stdio: "ignore" },
  );
  return { certPath, keyPath, cert: readFileSync(certPath), env: { SWITCHBOARD_TLS_CERT: certPath, SWITCHBOARD_TLS_KEY: keyPath } };
}
