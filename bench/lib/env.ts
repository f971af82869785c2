/** Environment access for the bench processes: required or defaulted, by name. */
export function envVar(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`${name} is required`);
}

export function envNumber(name: string, fallback?: number): number {
  const value = Number(envVar(name, fallback === undefined ? undefined : String(fallback)));
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
  return value;
}
