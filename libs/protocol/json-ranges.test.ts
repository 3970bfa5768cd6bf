import t from 'tap';
import { arrayElements, keyIs, keyOf, objectMembers, rootStart, Splice } from './json-ranges';

const text = (b: Buffer, s: { start: number; end: number }) => b.toString('utf8', s.start, s.end);

t.test('members: keys as JSON.parse reads them, values to their exact end, whatever the spacing', async (t) => {
  const b = Buffer.from(' {\n "a" : 1 ,"b":-2.5e3,"c" :true,"d":null , "e":"x}\\"]" ,"f":{"g":[1,{"h":"]"}]},"\\u0069d":[ ],"ü":"é"}\t');
  const members = objectMembers(b, rootStart(b));
  t.same(members.map((m) => keyOf(b, m)), ['a', 'b', 'c', 'd', 'e', 'f', 'id', 'ü']);
  t.same(members.map((m) => b.toString('utf8', m.valueStart, m.end)), ['1', '-2.5e3', 'true', 'null', '"x}\\"]"', '{"g":[1,{"h":"]"}]}', '[ ]', '"é"']);
  t.same(members.map((m) => JSON.parse(`{${text(b, m)}}`)), members.map((m) => ({ [keyOf(b, m)]: JSON.parse(b.toString('utf8', m.valueStart, m.end)) })));
  t.ok(keyIs(b, members[6], 'id'), 'an escaped key is still the key');
  t.notOk(keyIs(b, members[0], 'id'));
  const similar = Buffer.from('{"ix":1,"idd":2,"i\u0064x":3,"\u00efd":4}');
  t.same(objectMembers(similar, 0).map((m) => keyIs(similar, m, 'id')), [false, false, false, false], 'same length, longer, escaped other, non-ASCII');
  t.same(objectMembers(Buffer.from('{ }'), 0), []);
});

t.test('strings: a quote after an even run of backslashes closes the string, after an odd run it does not', async (t) => {
  const b = Buffer.from('["a\\\\","b\\\\\\"c",  "\\\\\\\\"]');
  const spans = arrayElements(b, 0);
  t.same(spans.map((s) => JSON.parse(text(b, s))), JSON.parse(b.toString()));
  t.same(arrayElements(Buffer.from('[ ]'), 0), []);
  t.throws(() => arrayElements(Buffer.from('["open'), 0), SyntaxError);
});

t.test('splice: adjacent entries copy as one run, others are joined by a comma', async (t) => {
  const b = Buffer.from('[1, 2, 3,4]');
  const spans = arrayElements(b, 0);
  const out = new Splice(b).text('[');
  out.entry(spans[0], 0, true).entry(spans[1], 1, false).entry(spans[3], 3, false).entry('"x"', -1, false);
  t.equal(out.text(']').bytes().toString(), '[1, 2,4,"x"]');
});
