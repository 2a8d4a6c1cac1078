import { createHash, createPublicKey, type KeyObject } from "node:crypto";

/**
 * The algorithms a Mercure token may be signed with: an explicit list
 * (never `none`, never one the token chooses), each bound to a kind of key,
 * so an HMAC secret verifies only HS*, and a public key only its own
 * algorithm (no HS256 token "signed" with an RSA key's public PEM).
 */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;
export type PublicKeyAlgorithm = (typeof PUBLIC_KEY_ALGORITHMS)[number];

/** HS256's key should be at least as long as its hash (RFC 7518 §3.2): shorter secrets are refused. */
export const MIN_HMAC_BYTES = 32;
const MIN_RSA_BITS = 2048;

/** A key a tenant trusts to sign Mercure tokens: a shared HMAC secret, or a public key (SPKI PEM) with its algorithm. */
export type MercureKey =
  | { readonly kind: "hmac"; readonly secret: string }
  | { readonly kind: "public"; readonly alg: PublicKeyAlgorithm; readonly pem: string };

/**
 * What a tenant's hub trusts: a key for publishers' tokens and one for
 * subscribers' (the two may be the same key; null: that role has none),
 * and for 1.0 tokens the issuer those keys belong to and the hub's resource
 * identifier.
 */
export interface MercureKeys {
  readonly publisher: MercureKey | null;
  readonly subscriber: MercureKey | null;
  /** 1.0: when set, a token's `iss` must equal it. */
  readonly issuer: string | null;
  /** 1.0: the resource identifier a token's `aud` must contain; null: the hub's URL. */
  readonly audience: string | null;
}

export class MercureKeyError extends Error {}

/** An HMAC secret, checked for length. The secret's UTF-8 bytes are the key, as Mercure hubs and Symfony use it. */
export function hmacKey(secret: string): MercureKey {
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_HMAC_BYTES) {
    throw new MercureKeyError(`an HMAC secret must be at least ${MIN_HMAC_BYTES} bytes (HS256 needs a key as long as its hash); this one has ${bytes}`);
  }
  return { kind: "hmac", secret };
}

const ALG_KEY = {
  RS256: { type: "rsa", describe: "an RSA public key" },
  ES256: { type: "ec", describe: "an EC public key on P-256" },
  EdDSA: { type: "ed25519", describe: "an Ed25519 public key" },
} as const;

/**
 * A public key from PEM text, checked against its algorithm and kept as
 * SPKI PEM. A private key is refused rather than reduced to its public
 * half: it has no business in the hub's database.
 */
export function publicKey(pem: string, alg: string): MercureKey {
  if (!(PUBLIC_KEY_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new MercureKeyError(`--alg must be one of ${PUBLIC_KEY_ALGORITHMS.join(", ")} for a public key, not "${alg}"`);
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    throw new MercureKeyError("that is a private key: give the hub the public key only (openssl pkey -in key.pem -pubout)");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new MercureKeyError('not a PEM public key: expected "-----BEGIN PUBLIC KEY-----" and its base64 lines');
  }
  const expected = ALG_KEY[alg as PublicKeyAlgorithm];
  const namedCurve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== expected.type || (alg === "ES256" && namedCurve !== "prime256v1")) {
    const found = key.asymmetricKeyType === "ec" ? `an EC key on ${namedCurve}` : `a key of type ${key.asymmetricKeyType}`;
    throw new MercureKeyError(`${alg} needs ${expected.describe}; this PEM holds ${found}`);
  }
  if (alg === "RS256" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new MercureKeyError(`an RSA key must have at least ${MIN_RSA_BITS} bits; this one has ${key.asymmetricKeyDetails?.modulusLength}`);
  }
  return { kind: "public", alg: alg as PublicKeyAlgorithm, pem: key.export({ type: "spki", format: "pem" }).toString() };
}

/** How `mercure show` names a key: its kind, and for a public key a fingerprint; never anything of a secret. */
export function describeKey(key: MercureKey | null): string {
  if (key === null) return "(none)";
  if (key.kind === "hmac") return "HMAC secret (HS256, HS384, HS512)";
  const der = createPublicKey(key.pem).export({ type: "spki", format: "der" });
  return `${key.alg} public key, SHA-256 ${createHash("sha256").update(der).digest("hex").slice(0, 16)}`;
}

export const sameKey = (a: MercureKey | null, b: MercureKey | null): boolean =>
  a !== null && b !== null && (a.kind === "hmac" ? b.kind === "hmac" && a.secret === b.secret : b.kind === "public" && a.alg === b.alg && a.pem === b.pem);

// Parsing a PEM costs more than verifying a small token: each key is parsed once (bounded: keys change rarely).
const parsed = new Map<string, KeyObject>();
const MAX_PARSED = 256;

/** The key and the algorithms it may verify, as jose takes them. */
export function verificationKey(key: MercureKey): { key: Uint8Array | KeyObject; algorithms: string[] } {
  if (key.kind === "hmac") return { key: new TextEncoder().encode(key.secret), algorithms: [...HMAC_ALGORITHMS] };
  let object = parsed.get(key.pem);
  if (!object) {
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key.pem, (object = createPublicKey(key.pem)));
  }
  return { key: object, algorithms: [key.alg] };
}
