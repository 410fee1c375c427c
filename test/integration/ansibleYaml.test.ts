/**
 * The YAML emitter against the real reader: every document it writes, read back by Ansible's own
 * loader (ansible.parsing.yaml.loader.AnsibleLoader, on PyYAML), is the data it was given —
 * arbitrary text (quotes, backslashes, braces, `#`, `: `, tabs, CR, control characters,
 * non-ASCII, trailing blanks, many newlines), `!unsafe` marks, flow lists, comments — and no
 * line is longer than ansible-lint allows or ends in a blank.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Commented, Flow, Unsafe, yamlDocument, type YamlMapping, type YamlNode, type YamlScalar } from '../../src/core/ansible/yaml';
import { run } from '../../harness/host/testHost';
import { ansiblePython, requireAnsible } from './ansibleRun';

requireAnsible();

const LOADER = `
import json, sys
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.unsafe_proxy import AnsibleUnsafe

def plain(x):
    if isinstance(x, AnsibleUnsafe):
        return {'unsafe': str(x)}
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x

out = []
for doc in json.load(sys.stdin):
    try:
        out.append({'data': plain(AnsibleLoader(doc).get_single_data())})
    except Exception as e:
        out.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(out, sys.stdout)
`;

/** What Ansible must read back for a node (Unsafe as {unsafe: text}, comments gone). */
function expected(node: YamlNode | undefined): unknown {
  if (node instanceof Commented) return expected(node.node);
  if (node instanceof Unsafe) return { unsafe: node.text };
  if (node instanceof Flow) return node.items.map(expected);
  if (Array.isArray(node)) return (node as readonly YamlNode[]).map(expected);
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node as YamlMapping).filter(([, v]) => v !== undefined).map(([k, v]) => [k, expected(v)]));
  }
  return node;
}

const CHARS = [...'aZ09 _-./:#{}[]%!&*|>@`,?\'"\\\t\n\r=~+$^;()<>', 'é', '日', '😀', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\ufeff', '{{', '}}', '{%', ': ', ' #', '\n\n', '  '];
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 40 }).map((a) => a.join(''));
const longText = fc.tuple(text, fc.integer({ min: 100, max: 400 }), fc.constantFrom('x', ' ', 'a b', '\\', '"', '\t')).map(([t, n, unit]) => t + unit.repeat(n) + t);
const word = fc.constantFrom('yes', 'no', 'on', 'off', 'null', '~', '0644', '1e3', '10%', '-p', 'true', 'False', '.inf', '12:30', '2024-01-01', 'plain words', 'ansible.builtin.copy');
const str = fc.oneof(text, word, longText);
const scalarArb: fc.Arbitrary<YamlScalar> = fc.oneof(
  str,
  str.map((t) => new Unsafe(t)),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.boolean(),
  fc.constant(null),
);
// Keys as the playbooks have them: short (a key longer than a line is not supported).
const keyArb = fc.oneof(fc.constantFrom('name', 'content', 'argv', 'when', 'yes', '0644', '/etc/x.conf', 'a b', 'fail_msg'), text.filter((t) => t.length > 0 && t.length <= 12));
const { node } = fc.letrec<{ node: YamlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(scalarArb, { maxLength: 6 }).map((items) => new Flow(items)),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('node'), { maxKeys: 4 }),
    fc.tuple(fc.array(text, { maxLength: 2 }), tie('node')).map(([c, n]) => new Commented(c, n)),
  ),
}));
const root = fc.oneof(fc.array(node, { maxLength: 4 }), fc.dictionary(keyArb, node, { maxKeys: 5 }));

test('every emitted document reads back, under Ansible\'s loader, as the data it was given', async () => {
  const samples = fc.sample(fc.tuple(root, fc.array(text, { maxLength: 3 })), { numRuns: 400, seed: 16 });
  const docs = samples.map(([r, comments]) => yamlDocument(r as readonly YamlNode[] | YamlMapping, comments));
  for (const d of docs) {
    for (const line of d.split('\n')) {
      assert.ok(line.length <= 160, `a line of ${line.length} characters:\n${line}`);
      if (/[ \t]$/.test(line)) assert.fail(`a line ends in a blank: ${JSON.stringify(line)}\n${d}`);
    }
  }
  const r = await run(ansiblePython(), ['-c', LOADER], { input: JSON.stringify(docs), timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const back = JSON.parse(r.stdout) as { data?: unknown; error?: string }[];
  assert.equal(back.length, docs.length);
  samples.forEach(([r0], i) => {
    const got = back[i];
    assert.ok(got && !('error' in got), `document ${i} does not load: ${got?.error}\n${docs[i]}`);
    assert.deepEqual(got.data, expected(r0 as YamlNode), `document ${i} reads back differently:\n${docs[i]}`);
  });
});
