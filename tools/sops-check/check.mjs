// Checks every committed SOPS fixture (fixtures/sops/cases, fixtures/sops/world.yaml) with
// implementations independent of tools/sops-fixture, which wrote them:
//  - each key envelope opened by the real tools (`age --decrypt -i`, `gpg --decrypt`), every
//    key of a group yielding the same bytes; key groups combined by Shamir's scheme (our own
//    GF(2^8) code here), every quorum giving the same 32-byte data key;
//  - every value decrypted with Node's AES-256-GCM (additional data: the value's path), the
//    MAC recomputed over the walk and compared with the file's decrypted MAC;
//  - every encrypted comment decrypted and found in the twin;
//  - the marker bytes by which Flux recognises an encrypted file of its format present;
//  - the decrypted tree compared with the plaintext twin;
//  - npm sops-age decrypting the same files (age key, YAML/JSON/dotenv/binary; it checks no
//    MAC) and npm sops-decoder's value decryption (decryptScalar) given the data key.
// Usage: node check.mjs REPO_ROOT NODE_MODULES_PARENT
import { createRequire } from "node:module";
import { createDecipheriv, createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";

const [root, installDir] = process.argv.slice(2);
const require = createRequire(path.join(installDir, "package.json"));
const YAML = require("yaml");
const { decryptSops } = require("sops-age");
const { decryptScalar } = require("sops-decoder");

const keysDir = path.join(root, "fixtures/sops/keys");
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from(
  "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69",
  "hex",
);
const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$/;
// The bytes by which Flux's kustomize-controller recognises an encrypted file of a format
// (sopsFormatToMarkerBytes in internal/decryptor).
const FLUX_MARKERS = {
  yaml: "mac: ENC[",
  json: '"mac": "ENC[',
  binary: '"mac": "ENC[',
  dotenv: "sops_mac=ENC[",
  ini: "[sops]",
};

class CheckError extends Error {}
const fail = (msg) => {
  throw new CheckError(msg);
};

// ---- Reading the files: metadata and data leaves in the order sops walks them.

/** Leaves of a parsed tree as [path (keys only, as sops's additional data), value]. */
function leaves(value, keyPath = [], out = []) {
  if (Array.isArray(value)) {
    for (const v of value) leaves(v, keyPath, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) leaves(v, [...keyPath, k], out);
  } else {
    out.push([keyPath, value]);
  }
  return out;
}

/** Rebuilds nested metadata from sops's flattened keys (a__list_0__map_b). */
function unflatten(entries) {
  const top = {};
  for (const [key, value] of entries) {
    const tokens = key.split(/(?=__map_|__list_)/);
    let node = top;
    let slot = tokens[0];
    for (const t of tokens.slice(1)) {
      const next = t.startsWith("__list_") ? [] : {};
      node[slot] ??= next;
      node = node[slot];
      slot = t.startsWith("__list_") ? Number(t.slice(7)) : t.slice(6);
    }
    node[slot] = value;
  }
  return top;
}

function parseDotenv(text) {
  const entries = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) fail(`invalid dotenv line ${line}`);
    entries.push([line.slice(0, eq), line.slice(eq + 1).replaceAll("\\n", "\n")]);
  }
  return entries;
}

function parseIni(text) {
  const sections = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    if (line.startsWith("[")) {
      sections.push([line.slice(1, -1), []]);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !sections.length) fail(`invalid INI line ${line}`);
    sections.at(-1)[1].push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** { meta, docs: [data tree without metadata] } of an encrypted file. */
function readEncrypted(text, format) {
  if (format === "yaml") {
    const docs = YAML.parseAllDocuments(text).map((d) => {
      if (d.errors.length) fail(`YAML: ${d.errors[0].message}`);
      return d.toJS();
    });
    const meta = docs[0].sops;
    for (const d of docs) {
      if (!isDeepStrictEqual(d.sops, meta)) fail("the documents carry different metadata");
      delete d.sops;
    }
    return { meta, docs };
  }
  if (format === "json" || format === "binary") {
    const doc = JSON.parse(text);
    const meta = doc.sops;
    delete doc.sops;
    return { meta, docs: [doc] };
  }
  if (format === "dotenv") {
    const entries = parseDotenv(text);
    const meta = unflatten(
      entries.filter(([k]) => k.startsWith("sops_")).map(([k, v]) => [k.slice(5), v]),
    );
    return { meta, docs: [Object.fromEntries(entries.filter(([k]) => !k.startsWith("sops_")))] };
  }
  if (format === "ini") {
    const sections = parseIni(text);
    const sops = sections.find(([name]) => name === "sops");
    if (!sops) fail("no [sops] section");
    const meta = unflatten(sops[1].map(([k, v]) => [k, v.replaceAll("\\n", "\n")]));
    const doc = Object.fromEntries(
      sections.filter(([name]) => name !== "sops").map(([n, kv]) => [n, Object.fromEntries(kv)]),
    );
    return { meta, docs: [doc] };
  }
  fail(`unknown format ${format}`);
}

function readTwin(text, format) {
  if (format === "yaml") return YAML.parseAllDocuments(text).map((d) => d.toJS());
  if (format === "json") return [JSON.parse(text)];
  if (format === "binary") return [{ data: text }];
  if (format === "dotenv") return [Object.fromEntries(parseDotenv(text))];
  if (format === "ini") {
    return [Object.fromEntries(parseIni(text).map(([n, kv]) => [n, Object.fromEntries(kv)]))];
  }
  fail(`unknown format ${format}`);
}

// ---- Key envelopes.

const ageIdentities = new Map(); // recipient -> identity file
for (const f of readdirSync(keysDir).filter((f) => f.endsWith(".key"))) {
  const id = path.join(keysDir, f);
  const pub = readFileSync(id.replace(/\.key$/, ".pub"), "utf8").trim();
  ageIdentities.set(pub, id);
}

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 20 });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r;
}

function openAge(entry) {
  const identity = ageIdentities.get(entry.recipient);
  if (!identity) fail(`no test identity for age recipient ${entry.recipient}`);
  return run("age", ["--decrypt", "-i", identity], entry.enc).stdout;
}

function openPgp(entry, gnupghome) {
  const r = run(
    "gpg",
    ["--batch", "--homedir", gnupghome, "--pinentry-mode", "loopback", "--passphrase-file",
      path.join(keysDir, "pgp-passphrase.passphrase"), "--status-fd", "2", "--decrypt"],
    entry.enc,
  );
  // [GNUPG:] DECRYPTION_KEY <subkey fingerprint> <primary fingerprint> <trust>
  const m = r.stderr.toString().match(/DECRYPTION_KEY \S+ (\S+)/);
  if (!m || m[1] !== entry.fp) fail(`PGP envelope for ${entry.fp} opened by key ${m?.[1]}`);
  return r.stdout;
}

// GF(2^8) with the AES polynomial, through log/exp tables of generator 3.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = EXP[i + 255] = x;
  LOG[x] = i;
  x ^= (x << 1) ^ (x & 0x80 ? 0x11b : 0); // x *= 3
}
const gfMul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);
const gfDiv = (a, b) => (a ? EXP[LOG[a] + 255 - LOG[b]] : 0);

/** The secret under shares (y bytes..., x): Lagrange interpolation at 0. */
function shamirCombine(shares) {
  const xs = shares.map((s) => s.at(-1));
  if (new Set(xs).size !== xs.length) fail("duplicate Shamir share");
  const secret = Buffer.alloc(shares[0].length - 1);
  for (let b = 0; b < secret.length; b++) {
    let acc = 0;
    shares.forEach((s, i) => {
      let basis = 1;
      xs.forEach((xj, j) => {
        if (j !== i) basis = gfMul(basis, gfDiv(xj, xs[i] ^ xj));
      });
      acc ^= gfMul(s[b], basis);
    });
    secret[b] = acc;
  }
  return secret;
}

function* subsets(items, size, start = 0) {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    for (const rest of subsets(items, size - 1, i + 1)) yield [items[i], ...rest];
  }
}

function dataKey(meta, gnupghome) {
  const groups = meta.key_groups ?? [{ age: meta.age ?? [], pgp: meta.pgp ?? [] }];
  const parts = groups.map((g, n) => {
    const opened = [...(g.age ?? []).map(openAge), ...(g.pgp ?? []).map((e) => openPgp(e, gnupghome))];
    if (!opened.length) fail(`key group ${n} is empty`);
    if (!opened.every((p) => p.equals(opened[0]))) fail(`the keys of group ${n} give different data keys`);
    return opened[0];
  });
  let key;
  if (groups.length === 1) {
    if (meta.shamir_threshold) fail("shamir_threshold with one key group");
    key = parts[0];
  } else {
    const threshold = Number(meta.shamir_threshold);
    if (!(threshold >= 2 && threshold <= groups.length)) fail(`bad shamir_threshold ${meta.shamir_threshold}`);
    for (const quorum of subsets(parts, threshold)) {
      const k = shamirCombine(quorum);
      if (key && !k.equals(key)) fail("two quorums of key groups give different data keys");
      key = k;
    }
    // Fewer shares than the threshold must not give the key.
    if (shamirCombine(parts.slice(0, threshold - 1)).equals(key)) fail("too few shares gave the data key");
  }
  if (key.length !== 32) fail(`data key of ${key.length} bytes`);
  return key;
}

// ---- Values, comments and the MAC.

function aesOpen(value, key, aad) {
  const m = value.match(ENC);
  if (!m) fail(`not an encrypted value: ${value}`);
  const [data, iv, tag] = m.slice(1, 4).map((b) => Buffer.from(b, "base64"));
  if (iv.length !== 32) fail(`IV of ${iv.length} bytes`);
  const d = createDecipheriv("aes-256-gcm", key, iv);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(tag);
  return { bytes: Buffer.concat([d.update(data), d.final()]), type: m[4] };
}

function typed({ bytes, type }) {
  const s = bytes.toString("utf8");
  switch (type) {
    case "str":
      return s;
    case "int":
      if (!/^-?\d+$/.test(s)) fail(`bad int ${s}`);
      return Number(s);
    case "float":
      return Number(s);
    case "bool":
      if (s !== "True" && s !== "False") fail(`bad bool ${s}`);
      return s === "True";
    case "time":
      // A YAML timestamp (Go's time.Time MarshalText); the twin's YAML reads it as this text.
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[-+]\d\d:\d\d)$/.test(s)) fail(`bad time ${s}`);
      return s;
    default:
      fail(`unexpected value type ${type}`);
  }
}

/** strconv.FormatFloat(v, 'f', -1, 64) of a JS number (its shortest digits, no exponent). */
function goFormatF(v) {
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mantissa, exp = "0"] = Math.abs(v).toString().split("e");
  const [int, frac = ""] = mantissa.split(".");
  const all = int + frac;
  const lead = all.length - all.replace(/^0+/, "").length;
  const digits = all.slice(lead).replace(/0+$/, "");
  const point = int.length + Number(exp) - lead; // where the decimal point falls in `digits`
  let body;
  if (point <= 0) body = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) body = digits + "0".repeat(point - digits.length);
  else body = digits.slice(0, point) + "." + digits.slice(point);
  return (v < 0 ? "-" : "") + body;
}

function macBytes(value) {
  if (typeof value === "string") return Buffer.from(value);
  if (typeof value === "boolean") return Buffer.from(value ? "True" : "False");
  if (typeof value === "number") return Buffer.from(goFormatF(value));
  fail(`cannot MAC ${typeof value}`);
}

/** The file's selector, and for a path-based one which paths it encrypts (sops's rules). */
function selector(meta) {
  const given = ["unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
    "unencrypted_comment_regex", "encrypted_comment_regex"].filter((s) => meta[s]);
  if (given.length !== 1) fail(`the metadata names ${given.length} selectors`);
  const name = given[0];
  const v = meta[name];
  const rules = {
    unencrypted_suffix: (p) => !p.some((k) => k.endsWith(v)),
    encrypted_suffix: (p) => p.some((k) => k.endsWith(v)),
    unencrypted_regex: (p) => !p.some((k) => new RegExp(v).test(k)),
    encrypted_regex: (p) => p.some((k) => new RegExp(v).test(k)),
  };
  // Comment selectors depend on comments the parsed tree no longer has: not checked here.
  return { selector: name, shouldBeEncrypted: rules[name] ?? (() => undefined) };
}

/** Decrypts a tree in place order; returns the decrypted copy and feeds the MAC. */
function decryptTree(value, keyPath, ctx) {
  if (Array.isArray(value)) return value.map((v) => decryptTree(v, keyPath, ctx));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decryptTree(v, [...keyPath, k], ctx)]));
  }
  if (value === null) return null;
  const aad = keyPath.join(":") + ":";
  const expected = ctx.shouldBeEncrypted(keyPath);
  if (expected !== undefined && expected !== (typeof value === "string" && value.startsWith("ENC[")) && value !== "") {
    fail(`${aad} is ${expected ? "not " : ""}encrypted, against the file's ${ctx.selector}`);
  }
  if (typeof value === "string" && value.startsWith("ENC[")) {
    const opened = aesOpen(value, ctx.key, aad);
    const plain = typed(opened);
    if (opened.type !== "time") {
      // sops-decoder knows no type:time.
      const theirs = decryptScalar(value, ctx.key, aad);
      if (!isDeepStrictEqual(theirs, plain)) fail(`sops-decoder decrypts ${aad} to ${theirs}, we to ${plain}`);
    } else {
      ctx.times++;
    }
    ctx.mac.update(opened.bytes);
    ctx.values++;
    return plain;
  }
  if (!ctx.macOnlyEncrypted) ctx.mac.update(macBytes(value));
  return value;
}

/** Every encrypted comment must open under the path of some branch and appear in the twin. */
function checkComments(text, format, docs, key, twin) {
  const found = [...text.matchAll(/ENC\[AES256_GCM,[^\]]*type:comment\]/g)].map((m) => m[0]);
  const paths = new Set([":"]);
  for (const doc of docs) {
    for (const [p] of leaves(doc)) for (let i = 1; i <= p.length; i++) paths.add(p.slice(0, i).join(":") + ":");
  }
  for (const c of found) {
    let comment;
    for (const aad of paths) {
      try {
        comment = aesOpen(c, key, aad).bytes.toString("utf8");
        break;
      } catch (e) {
        if (e instanceof CheckError) throw e;
      }
    }
    if (comment === undefined) fail(`encrypted comment ${c.slice(0, 40)}… opens under no path`);
    const line = format === "ini" ? `; ${comment.trim()}` : `#${comment}`;
    if (!twin.split("\n").some((l) => l.trim() === line.trim())) fail(`decrypted comment ${line} is not in the twin`);
  }
  return found.length;
}

// ---- One fixture.

async function checkFixture(fx, gnupghome) {
  const text = readFileSync(path.join(root, fx.encrypted), "utf8");
  const twinText = readFileSync(path.join(root, fx.twin), "utf8");
  if (!text.includes(FLUX_MARKERS[fx.format])) fail(`no ${FLUX_MARKERS[fx.format]} for Flux to recognise`);
  const { meta, docs } = readEncrypted(text, fx.format);
  if (!meta?.mac || !meta.lastmodified || !meta.version) fail("incomplete sops metadata");
  const key = dataKey(meta, gnupghome);

  const macOnlyEncrypted = meta.mac_only_encrypted === true || meta.mac_only_encrypted === "true";
  const ctx = { key, mac: createHash("sha512"), macOnlyEncrypted, values: 0, times: 0, ...selector(meta) };
  if (macOnlyEncrypted) ctx.mac.update(MAC_ONLY_ENCRYPTED_INIT);
  const decrypted = docs.map((d) => decryptTree(d, [], ctx));
  const fileMac = aesOpen(meta.mac, key, meta.lastmodified);
  if (fileMac.type !== "str") fail("the MAC is not a string");
  if (fileMac.bytes.toString() !== ctx.mac.digest("hex").toUpperCase()) fail("MAC mismatch");

  const twin = readTwin(twinText, fx.format);
  if (!isDeepStrictEqual(decrypted, twin)) {
    fail(`decrypted data differs from the twin:\n${JSON.stringify(decrypted)}\n${JSON.stringify(twin)}`);
  }
  const comments = checkComments(text, fx.format, docs, key, twinText);

  // npm sops-age: single key group with an age recipient, formats it reads.
  let sopsAge = "n/a";
  const ageEntry = !meta.key_groups && meta.age?.[0];
  if (ctx.times) {
    sopsAge = "n/a (type:time)";
  } else if (ageEntry && fx.format !== "ini") {
    const secretKey = readFileSync(ageIdentities.get(ageEntry.recipient), "utf8")
      .split("\n")
      .find((l) => l.startsWith("AGE-SECRET-KEY-"));
    let theirs;
    if (fx.format === "yaml" && docs.length > 1) {
      // sops-age reads one YAML document: give it each document (with its metadata).
      theirs = [];
      for (const d of YAML.parseAllDocuments(text)) {
        theirs.push(await decryptSops(d.toJS(), { secretKey, fileType: "json" }));
      }
    } else {
      const fileType = { yaml: "yaml", json: "json", binary: "json", dotenv: "env" }[fx.format];
      theirs = [await decryptSops(text, { secretKey, fileType })];
    }
    if (!isDeepStrictEqual(theirs, twin)) fail(`sops-age decrypts to ${JSON.stringify(theirs)}`);
    sopsAge = "ok";
  }
  return `${ctx.values} values, ${comments} comments, MAC ok, sops-age ${sopsAge}`;
}

function fixtures() {
  const casesDir = "fixtures/sops/cases";
  const manifest = YAML.parse(readFileSync(path.join(root, casesDir, "cases.yaml"), "utf8"));
  const ext = { yaml: "yaml", json: "json", dotenv: "env", ini: "ini", binary: "txt" };
  const list = manifest.cases.map((c) => ({
    name: c.name,
    format: c.format,
    encrypted: `${casesDir}/${c.name}.enc.${c.ext ?? ext[c.format]}`,
    twin: `${casesDir}/${c.name}.plain.${c.ext ?? ext[c.format]}`,
  }));
  const world = YAML.parse(readFileSync(path.join(root, "fixtures/sops/world.yaml"), "utf8"));
  for (const f of world.files) {
    list.push({ name: f.encrypted, format: "yaml", encrypted: f.encrypted, twin: f.twin });
  }
  return list;
}

async function main() {
  const gnupghome = mkdtempSync(path.join(tmpdir(), "sops-check-"));
  let failed = 0;
  let passed = 0;
  try {
    for (const f of readdirSync(keysDir).filter((f) => f.endsWith(".asc") && !f.endsWith(".pub.asc"))) {
      run("gpg", ["--batch", "--homedir", gnupghome, "--pinentry-mode", "loopback", "--passphrase-file",
        path.join(keysDir, "pgp-passphrase.passphrase"), "--import", path.join(keysDir, f)]);
    }
    for (const fx of fixtures()) {
      try {
        const summary = await checkFixture(fx, gnupghome);
        console.log(`ok   ${fx.name}: ${summary}`);
        passed++;
      } catch (e) {
        console.log(`FAIL ${fx.name}: ${e.message}`);
        failed++;
      }
    }
  } finally {
    spawnSync("gpgconf", ["--homedir", gnupghome, "--kill", "gpg-agent"]);
    rmSync(gnupghome, { recursive: true, force: true });
  }
  console.log(`check-sops-fixtures: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
