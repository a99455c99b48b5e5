// better-auth 1.7.25's session cookie cache (`<prefix>.session_data`) decoded and made with
// node:crypto only, not with better-auth's code, so that a test can check a cookie from either
// server against an independent reading of the format (facts: better-auth 1.7.25 cookies/index.ts and session-store.ts):
//   compact: base64url(JSON {session: payload, expiresAt: ms, signature}),
//            signature = base64url_nopad(HMAC-SHA256(secret, JSON.stringify({...payload, expiresAt})))
//   jwt:     HS256 JWT, header {"alg":"HS256"}, key = utf8(secret), claims = payload + iat + exp
//   jwe:     compact JWE {"alg":"dir","enc":"A256CBC-HS512","kid":thumbprint}, CEK = HKDF-SHA256(
//            secret, salt "better-auth-session", info "BetterAuth.js Generated Encryption Key", 64)
//   payload = {session, user, updatedAt: ms, version: "1"}
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const fromB64u = (s) => Buffer.from(s, "base64url");

/** The signed cookie value (session_token, dont_remember): value + "." + base64(HMAC-SHA256). */
export function signCookieValue(value, secret) {
  return `${value}.${createHmac("sha256", secret).update(value).digest("base64")}`;
}

export function compactSignature(payload, expiresAt, secret) {
  return createHmac("sha256", secret).update(JSON.stringify({ ...payload, expiresAt })).digest("base64url");
}

/** Decodes and verifies a compact cookie; { payload, expiresAt, signatureValid }. */
export function decodeCompact(value, secret) {
  const outer = JSON.parse(fromB64u(value).toString("utf8"));
  const expected = compactSignature(outer.session, outer.expiresAt, secret);
  const signatureValid = expected.length === outer.signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(outer.signature));
  return { payload: outer.session, expiresAt: outer.expiresAt, signature: outer.signature, signatureValid, outerKeys: Object.keys(outer) };
}

export function encodeCompact(payload, expiresAt, secret) {
  return b64u(JSON.stringify({ session: payload, expiresAt, signature: compactSignature(payload, expiresAt, secret) }));
}

/** Decodes an HS256 JWT; { header, claims, signatureValid }. */
export function decodeJwt(token, secret) {
  const [h, p, s] = token.split(".");
  const expected = createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url");
  return { header: JSON.parse(fromB64u(h)), claims: JSON.parse(fromB64u(p)), signatureValid: expected === s };
}

export function encodeJwt(claims, secret) {
  const h = b64u(JSON.stringify({ alg: "HS256" }));
  const p = b64u(JSON.stringify(claims));
  return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
}

export const JWE_SALT = "better-auth-session";
export const JWE_INFO = "BetterAuth.js Generated Encryption Key";

/** The 64-byte content key and its kid (RFC 7638 thumbprint of {"k","kty":"oct"}). */
export function jweKey(secret, salt = JWE_SALT) {
  const cek = Buffer.from(hkdfSync("sha256", Buffer.from(secret), Buffer.from(salt), Buffer.from(JWE_INFO), 64));
  const kid = createHash("sha256").update(`{"k":"${b64u(cek)}","kty":"oct"}`).digest("base64url");
  return { cek, kid };
}

/** A256CBC-HS512 (RFC 7518 5.2): MAC key = cek[0..32], AES key = cek[32..64]. */
function cbcHsTag(macKey, aad, iv, ciphertext) {
  const al = Buffer.alloc(8);
  al.writeBigUInt64BE(BigInt(Buffer.byteLength(aad) * 8));
  return createHmac("sha512", macKey).update(Buffer.concat([Buffer.from(aad), iv, ciphertext, al])).digest().subarray(0, 32);
}

/** Decrypts a dir/A256CBC-HS512 JWE; { header, claims, tagValid }. */
export function decryptJwe(token, secret, salt = JWE_SALT) {
  const [h, ek, ivB, ctB, tagB] = token.split(".");
  if (ek !== "") throw new Error("dir JWE has an empty encrypted key");
  const header = JSON.parse(fromB64u(h));
  const { cek } = jweKey(secret, salt);
  const iv = fromB64u(ivB), ct = fromB64u(ctB), tag = fromB64u(tagB);
  const tagValid = timingSafeEqual(cbcHsTag(cek.subarray(0, 32), h, iv, ct), tag);
  if (!tagValid) return { header, claims: null, tagValid };
  const d = createDecipheriv("aes-256-cbc", cek.subarray(32), iv);
  const plain = Buffer.concat([d.update(ct), d.final()]).toString("utf8");
  return { header, claims: JSON.parse(plain), plaintext: plain, tagValid };
}

/** Encrypts claims as better-auth does (iat/exp/jti are the caller's). */
export function encryptJwe(claims, secret, { salt = JWE_SALT, iv = randomBytes(16) } = {}) {
  const { cek, kid } = jweKey(secret, salt);
  const h = b64u(JSON.stringify({ alg: "dir", enc: "A256CBC-HS512", kid }));
  const c = createCipheriv("aes-256-cbc", cek.subarray(32), iv);
  const ct = Buffer.concat([c.update(JSON.stringify(claims)), c.final()]);
  return `${h}..${b64u(iv)}.${b64u(ct)}.${b64u(cbcHsTag(cek.subarray(0, 32), h, iv, ct))}`;
}

export { randomUUID };
