/**
 * Just enough PromQL to see what a query refers to: the series it selects (with their label
 * matchers), the labels it groups or matches on, and the functions it calls. Used to check
 * the Grafana dashboard against the metrics the scorer really exposes.
 */

export interface Matcher { label: string; op: '=' | '!=' | '=~' | '!~'; value: string }
export interface Selector { metric: string; matchers: Matcher[] }
export interface Refs {
  selectors: Selector[];
  /** Labels named in by / without / on / ignoring / group_left / group_right. */
  grouping: string[];
  functions: string[];
}

type Tok = { t: 'ident' | 'str' | 'num' | 'var' | 'punct'; v: string; pos: number };

export const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
export const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
  'cos', 'cosh', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv', 'exp', 'floor',
  'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum',
  'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time',
  'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets',
  'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort', 'sort_by_label', 'sort_by_label_desc', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time',
  'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

export function tokenize(expr: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < expr.length && expr[i] !== '\n') i++; continue; }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let v = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') { v += expr[j + 1] ?? ''; j += 2; continue; }
        v += expr[j];
        j++;
      }
      if (j >= expr.length) throw new Error(`unterminated string at ${i}`);
      out.push({ t: 'str', v, pos: i });
      i = j + 1;
      continue;
    }
    const rest = expr.slice(i);
    const m = /^\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/.exec(rest)
      ?? /^(\d+(\.\d+)?([eE][-+]?\d+)?([smhdwy]|ms)?)+/.exec(rest)
      ?? /^\.\d+([eE][-+]?\d+)?/.exec(rest)
      ?? /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest)
      ?? /^(=~|!~|!=|==|>=|<=|[(){}[\],=<>+\-*/%^@:])/.exec(rest);
    if (!m) throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`);
    const v = m[0];
    const t = v.startsWith('$') ? 'var' : /^[\d.]/.test(v) ? 'num' : /^[a-zA-Z_:]/.test(v) ? 'ident' : 'punct';
    out.push({ t, v, pos: i });
    i += v.length;
  }
  return out;
}

/** What an expression refers to. Throws on unbalanced brackets or malformed matchers. */
export function references(expr: string): Refs {
  const toks = tokenize(expr);
  const refs: Refs = { selectors: [], grouping: [], functions: [] };
  const at = (k: number) => toks[k];
  let depth = 0;

  const matchers = (k: number): [Matcher[], number] => {
    // toks[k] is '{'
    const ms: Matcher[] = [];
    let j = k + 1;
    for (;;) {
      const tk = at(j);
      if (!tk) throw new Error('unterminated {');
      if (tk.v === '}') return [ms, j + 1];
      if (tk.v === ',') { j++; continue; }
      const op = at(j + 1);
      const val = at(j + 2);
      if (tk.t !== 'ident' || !op || !['=', '!=', '=~', '!~'].includes(op.v) || !val || val.t !== 'str') {
        throw new Error(`malformed label matcher at ${tk.pos}`);
      }
      ms.push({ label: tk.v, op: op.v as Matcher['op'], value: val.v });
      j += 3;
    }
  };

  for (let k = 0; k < toks.length;) {
    const tk = toks[k]!;
    const next = at(k + 1);
    if (tk.v === '[') {
      // range or subquery: durations and Grafana variables, nothing to check
      let j = k + 1;
      while (at(j) && at(j)!.v !== ']') j++;
      if (!at(j)) throw new Error('unterminated [');
      k = j + 1;
      continue;
    }
    if (tk.v === '(') { depth++; k++; continue; }
    if (tk.v === ')') { if (--depth < 0) throw new Error(`unbalanced ) at ${tk.pos}`); k++; continue; }
    if (tk.v === '{') {
      const [ms, j] = matchers(k);
      const name = ms.find((m) => m.label === '__name__' && m.op === '=');
      refs.selectors.push({ metric: name?.value ?? '', matchers: ms.filter((m) => m !== name) });
      k = j;
      continue;
    }
    if (tk.t !== 'ident') { k++; continue; }
    const word = tk.v;
    if (GROUPING.has(word)) {
      if (next?.v === '(') {
        let j = k + 2;
        while (at(j) && at(j)!.v !== ')') {
          if (at(j)!.t === 'ident') refs.grouping.push(at(j)!.v);
          else if (at(j)!.v !== ',') throw new Error(`bad label list after ${word}`);
          j++;
        }
        if (!at(j)) throw new Error(`unterminated label list after ${word}`);
        k = j + 1;
      } else k++;
      continue;
    }
    if (KEYWORDS.has(word.toLowerCase())) { k++; continue; }
    if (next?.v === '(' || (AGGREGATIONS.has(word) && (next?.v === 'by' || next?.v === 'without'))) {
      refs.functions.push(word);
      k++;
      continue;
    }
    // a metric name, with or without matchers
    if (next?.v === '{') {
      const [ms, j] = matchers(k + 1);
      refs.selectors.push({ metric: word, matchers: ms });
      k = j;
    } else {
      refs.selectors.push({ metric: word, matchers: [] });
      k++;
    }
  }
  if (depth !== 0) throw new Error('unbalanced (');
  return refs;
}

export interface Catalog {
  /** Series name → the labels it carries. */
  series: Map<string, Set<string>>;
  /** Labels every series gets from the scrape target (job, instance). */
  targetLabels: Set<string>;
  /** Labels whose values form a closed set, with that set (decision, stage, job). */
  values: Map<string, Set<string>>;
}

/** Why an expression does not fit the catalog; empty when it does. */
export function problems(expr: string, cat: Catalog): string[] {
  let refs: Refs;
  try {
    refs = references(expr);
  } catch (err) {
    return [`does not parse: ${(err as Error).message}`];
  }
  const out: string[] = [];
  for (const f of refs.functions) if (!FUNCTIONS.has(f) && !AGGREGATIONS.has(f)) out.push(`unknown function ${f}`);
  const available = new Set(cat.targetLabels);
  for (const sel of refs.selectors) {
    const labels = cat.series.get(sel.metric);
    if (!labels) { out.push(`unknown metric ${sel.metric || '(no name)'}`); continue; }
    for (const l of labels) available.add(l);
    for (const m of sel.matchers) {
      if (!labels.has(m.label) && !cat.targetLabels.has(m.label)) { out.push(`${sel.metric} has no label ${m.label}`); continue; }
      const known = cat.values.get(m.label);
      if (!known || m.value.includes('$')) continue;
      const wanted = m.op === '=' || m.op === '!=' ? [m.value] : /^[\w|]+$/.test(m.value) ? m.value.split('|') : [];
      for (const v of wanted) if (!known.has(v)) out.push(`${sel.metric}: ${m.label}="${v}" matches no value it takes (${[...known].join(', ')})`);
    }
  }
  for (const l of refs.grouping) if (!available.has(l)) out.push(`groups by ${l}, which none of its series carries`);
  return out;
}
