/**
 * Owns the `switchyard` command line: picks the subcommand, runs it, and turns what goes wrong
 * into one clear line on stderr and an exit status (2 for usage errors, 1 for the rest). The API
 * key never appears in anything printed.
 */
import { ApiError, NetworkError } from './client.ts';
import { batchCommand } from './commands/batch.ts';
import { configCommand } from './commands/config.ts';
import { providersCommand } from './commands/providers.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { usageCommand } from './commands/usage.ts';
import { watchCommand } from './commands/watch.ts';
import { COMMON_HELP, UsageError } from './config.ts';
import { stderr, stdout } from './output.ts';

export const HELP = `switchyard: submit and follow LLM jobs on a Switchyard API

Usage: switchyard <command> [options]

Commands:
  submit [prompt...]            submit one job; prints its id (--wait: its answer)
  status <job-id>               a job's state and answer
  watch <job-id>                follow a job to its end (Server-Sent Events, else long-polling)
  providers                     provider states and circuits (--refresh probes now)
  usage                         tokens and spend per day (--days N, --group-by client|route|deployment|model)
  batch <in.jsonl> --out <out>  run an OpenAI batch file, resumable, results in input order
  config check [FILE]           validate a fleet config file (default: $SWITCHYARD_CONFIG): hash, deployments, routes

Run "switchyard <command> --help" for a command's options.

${COMMON_HELP}

Examples:
  export SWITCHYARD_URL=http://127.0.0.1:8080 SWITCHYARD_API_KEY=...
  switchyard submit -m mock/echo --wait "Say hello"
  switchyard batch requests.jsonl --out results.jsonl --concurrency 64
  switchyard config check fleet.yaml`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  submit: submitCommand,
  status: statusCommand,
  watch: watchCommand,
  providers: providersCommand,
  usage: usageCommand,
  batch: batchCommand,
  config: configCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    stdout(HELP);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    stderr(`switchyard: unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}. See switchyard --help.`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`switchyard ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof ApiError || err instanceof NetworkError) {
      stderr(`switchyard ${command}: ${err.message}`);
      return 1;
    }
    stderr(`switchyard ${command}: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
