import { XMLParser } from 'fast-xml-parser';

/**
 * Reading ISO 20022 documents (pain.001, pain.002, camt.054) with fast-xml-parser: values stay
 * strings, ids and amounts included, so nothing is rounded through a JS number on the way;
 * attributes (Ccy) are kept under '@'; the elements named in `arrays` are always arrays, however
 * many there are. Parsing with validation on makes a malformed document an exception the caller
 * turns into a refusal.
 */
export function isoXmlParser(arrays: readonly string[]): XMLParser {
  const always = new Set(arrays);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    isArray: (name) => always.has(name),
  });
}

type Node = Record<string, unknown>;

/** The node at a path of element names, or undefined when any step is missing. */
export function at(node: unknown, ...names: string[]): unknown {
  let cur = node;
  for (const n of names) cur = cur !== null && typeof cur === 'object' ? (cur as Node)[n] : undefined;
  return cur;
}

/**
 * An element's text, whether or not it has attributes; undefined for an element that holds other
 * elements: text beside a child ("20<b/>.05") reads as "20.05" once the parser joins it, and a bank
 * would refuse such a value.
 */
export function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node === null || typeof node !== 'object') return undefined;
  const keys = Object.keys(node);
  if (keys.some((k) => k !== '#text' && !k.startsWith('@'))) return undefined;
  return typeof (node as Node)['#text'] === 'string' ? ((node as Node)['#text'] as string) : undefined;
}

/** The elements of a node that the parser made an array, or none. */
export const listOf = (node: unknown): unknown[] => (Array.isArray(node) ? node : []);
