import t from 'tap';
import { arrayRanges, Edits, keyIs, keyOf, objectRanges, rootStart } from './json-ranges';

const objectMembers = (b: Buffer, i: number) => objectRanges(b, i).members;
const arrayElements = (b: Buffer, i: number) => arrayRanges(b, i).elements;

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

t.test('expanded: the elements of an array member, and their members, come from the same pass', async (t) => {
  const b = Buffer.from('{"input": [ {"id":"a","x":[1]} , "s", {"id":"b"} ], "n": 1, "other": [{"y":2}]}');
  const { members, end } = objectRanges(b, 0, (m) => keyIs(b, m, 'input'));
  t.equal(end, b.length);
  t.same(members.map((m) => JSON.parse(b.toString('utf8', m.valueStart, m.end))), [JSON.parse(b.toString()).input, 1, [{ y: 2 }]]);
  const items = members[0].elements!;
  t.same(items.map((e) => JSON.parse(text(b, e))), [{ id: 'a', x: [1] }, 's', { id: 'b' }]);
  t.same(items.map((e) => e.members?.map((m) => keyOf(b, m))), [['id', 'x'], undefined, ['id']]);
  t.equal(members[2].elements, undefined, 'only the members asked for');
});

t.test('strings: a quote after an even run of backslashes closes the string, after an odd run it does not', async (t) => {
  const b = Buffer.from('["a\\\\","b\\\\\\"c",  "\\\\\\\\"]');
  const spans = arrayElements(b, 0);
  t.same(spans.map((s) => JSON.parse(text(b, s))), JSON.parse(b.toString()));
  t.same(arrayElements(Buffer.from('[ ]'), 0), []);
  t.throws(() => arrayElements(Buffer.from('["open'), 0), SyntaxError);
});

t.test('edits: entries replaced or removed with the comma that joined them, whichever end of the list', async (t) => {
  const b = Buffer.from('[1, 2, 3,4 ,5]');
  const spans = arrayElements(b, 0);
  const run = (...ranges: Array<[number, number, string?]>) => {
    const edits = new Edits(b);
    for (const [a, z, text] of ranges) edits.replaceEntries(spans, a, z, text);
    return JSON.parse(edits.bytes().toString()) as unknown;
  };
  t.same(run([0, 0]), [2, 3, 4, 5]);
  t.same(run([1, 2]), [1, 4, 5]);
  t.same(run([3, 4]), [1, 2, 3]);
  t.same(run([0, 4]), []);
  t.same(run([0, 0], [4, 4]), [2, 3, 4]);
  t.same(run([1, 1, '"x","y"'], [3, 4]), [1, 'x', 'y', 3]);
  t.equal(new Edits(b).replace(1, 1, '0,').bytes().toString(), '[0,1, 2, 3,4 ,5]', 'an insertion');
  t.throws(() => new Edits(b).replace(3, 5).replace(4, 6), RangeError, 'edits overlap');
});
