/** A numeric `--name=value` argument of the bench script, or `def` when it is not given. */
export function numberArg(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
}
