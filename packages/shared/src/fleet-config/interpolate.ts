/**
 * Owns `${VAR}` in the fleet config: every string of the parsed file may name environment
 * variables, read from the environment given (never the shell's other forms: `$VAR` and
 * `${VAR:-x}` are not expanded). `$${` stands for a literal `${`. A missing or empty variable is a
 * problem naming the field and the variable; the value itself is never echoed.
 */
import { registerSecret } from '../secrets.ts';
import type { ConfigPath, Problem } from './problems.ts';

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * A variable named like a credential is a secret wherever it lands: a key put in the wrong field
 * (`base_url: ${OPENAI_API_KEY}`) would otherwise be echoed by that field's problem.
 */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

export interface Interpolated {
  value: unknown;
  problems: Problem[];
  /**
   * Paths of strings that could not be expanded. Their value is left out (so a half-expanded key is
   * never taken for a secret), and other checks of those fields would only repeat the problem.
   */
  failed: Set<string>;
}

export function interpolateEnv(tree: unknown, env: NodeJS.ProcessEnv): Interpolated {
  const problems: Problem[] = [];
  const failed = new Set<string>();
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') {
      const expanded = expand(node, env, (message) => problems.push({ path, message }));
      if (expanded === undefined) failed.add(JSON.stringify(path));
      return expanded;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    }
    return node;
  };
  return { value: walk(tree, []), problems, failed };
}

/** The string with its variables expanded, or undefined after reporting why it cannot be. */
function expand(text: string, env: NodeJS.ProcessEnv, problem: (message: string) => void): string | undefined {
  if (!text.includes('$')) return text;
  let out = '';
  let ok = true;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        problem(`has "\${" without a closing "}". Fix: write \${NAME}, or $\${ for a literal "\${".`);
        return undefined;
      }
      const name = text.slice(i + 2, end);
      const value = VARIABLE.test(name) ? env[name] : undefined;
      if (!VARIABLE.test(name)) {
        ok = false;
        problem(
          `"\${${name}}" is not a variable reference: only \${NAME} (letters, digits and _) is expanded. Fix: write \${NAME}, or $\${ for a literal "\${".`,
        );
      } else if (value === undefined || value === '') {
        ok = false;
        problem(
          `environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}. Fix: set ${name} in the environment of every process.`,
        );
      } else {
        if (SECRET_NAME.test(name)) registerSecret(value);
        out += value;
      }
      i = end + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return ok ? out : undefined;
}
