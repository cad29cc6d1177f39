/**
 * docs/benchmarks.md is generated: each benchmark script owns the sections between its markers
 * (`<!-- bench:<id>:start -->` … `<!-- bench:<id>:end -->`) and replaces only those, each with the date, the
 * machine and the command that produced it. Text outside the markers (how each benchmark measures) is kept as it
 * is; a section whose markers are missing is added at the end under its title.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, relative } from 'node:path';

export const BENCHMARKS_FILE = 'docs/benchmarks.md';

export interface BenchSection {
  /** The marker's name: `bench:<id>:start`. */
  readonly id: string;
  /** The heading it gets when the page does not have it yet. */
  readonly title: string;
  /** Markdown: the tables, and any line that belongs to this run. */
  readonly body: string;
}

/** A Markdown table padded as Biome formats it, so `npm run lint` accepts the generated page as it is. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cell = (text: string | undefined) => (text ?? '').replaceAll('|', '\\|');
  const all = [header, ...rows].map((row) => header.map((_, i) => cell(row[i])));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => [...(row[i] ?? '')].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((text, i) => text + ' '.repeat((widths[i] ?? 0) - [...text].length)).join(' | ')} |`;
  const [head = [], ...body] = all;
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

/** The machine, as a reader compares runs: CPU model, cores, memory and Node. */
export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/**
 * The command that ran: `npm run <script>` when npm started it, else `npx tsx <file>`, preceded by those of
 * `settings` (the script's environment knobs) that were set, so a short run says it was one.
 */
export function command(scriptFile: string, settings: readonly string[]): string {
  const file = relative(process.cwd(), scriptFile);
  // npm names the script it runs (npx names itself): only a package.json script that runs this file counts.
  const npmScript = process.env['npm_lifecycle_event'] ?? '';
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts?: Record<string, string> })
    .scripts;
  const run = scripts?.[npmScript]?.includes(file) ? `npm run ${npmScript}` : `npx tsx ${file}`;
  const set = [...new Set(settings)].filter((name) => process.env[name] !== undefined);
  return [...set.map((name) => `${name}=${process.env[name]}`), run].join(' ');
}

/** Replaces (or adds) each section of docs/benchmarks.md, stamped with the date, the machine and `ranBy`. */
export function writeBenchSections(sections: readonly BenchSection[], ranBy: string): void {
  let page = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : '# Benchmarks\n';
  const stamp = `Written by \`${ranBy}\` on ${new Date().toISOString().slice(0, 10)}; ${machine()}.`;
  for (const section of sections) {
    const start = `<!-- bench:${section.id}:start -->`;
    const end = `<!-- bench:${section.id}:end -->`;
    const block = [start, '', stamp, '', section.body.trim(), '', end].join('\n');
    const from = page.indexOf(start);
    const to = page.indexOf(end);
    if (from !== -1 && to > from) {
      page = page.slice(0, from) + block + page.slice(to + end.length);
    } else {
      page = `${page.trimEnd()}\n\n## ${section.title}\n\n${block}\n`;
    }
  }
  mkdirSync(dirname(BENCHMARKS_FILE), { recursive: true });
  writeFileSync(BENCHMARKS_FILE, page);
  process.stderr.write(
    `wrote ${sections.map((section) => `bench:${section.id}`).join(', ')} into ${BENCHMARKS_FILE}\n`,
  );
}
