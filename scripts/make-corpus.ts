/**
 * Writes data/corpus.txt, the small corpus that ships with flywheel for the
 * default pretraining run: short, simple stories from a seeded grammar, so a
 * character-level model learns words, agreement and story shape within a
 * few minutes on a laptop. Run: node --import tsx scripts/make-corpus.ts
 */
import { writeFileSync } from 'node:fs';
import { Rng } from '../src/util/rng.ts';

const rng = new Rng('corpus-v1');
const names = ['Ada', 'Ben', 'Cleo', 'Dan', 'Eva', 'Finn', 'Gus', 'Hana', 'Ivo', 'June', 'Kai', 'Lena', 'Milo', 'Nora', 'Otto', 'Pia'];
const pets = ['cat', 'dog', 'fox', 'owl', 'frog', 'duck', 'bear', 'goat'];
const places = ['the park', 'the river', 'the old mill', 'the market', 'the hill', 'the garden', 'the forest', 'the beach', 'the library', 'the bakery'];
const things = ['a red ball', 'a small key', 'a blue kite', 'a warm loaf', 'a shiny stone', 'an old map', 'a paper boat', 'a green apple', 'a lost hat', 'a tiny bell'];
const feelings = ['happy', 'sad', 'tired', 'brave', 'curious', 'hungry', 'calm', 'proud'];
const weather = ['The sun was bright.', 'It was raining.', 'The wind was cold.', 'Snow fell softly.', 'The sky was grey.', 'It was a warm day.'];
const times = ['One morning', 'Late at night', 'After lunch', 'On a quiet day', 'In the spring', 'Before dinner'];
const verbs = ['walked to', 'ran to', 'went to', 'hurried to', 'wandered to'];

function pick<T>(xs: readonly T[]): T {
  return rng.pick(xs);
}

function art(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function story(): string {
  const a = pick(names);
  let b = pick(names);
  while (b === a) b = pick(names);
  const pet = pick(pets), place = pick(places), thing = pick(things), feel = pick(feelings);
  const s: string[] = [];
  s.push(`${pick(times)}, ${a} ${pick(verbs)} ${place} with ${art(pet)} ${pet}.`);
  s.push(pick(weather));
  s.push(`${a} felt ${feel}.`);
  switch (rng.int(4)) {
    case 0:
      s.push(`At ${place}, ${a} found ${thing}.`, `"Is this yours?" ${a} asked ${b}.`, `"Yes, thank you!" said ${b}.`, `${b} was so happy that ${b} gave ${a} a hug.`);
      break;
    case 1:
      s.push(`The ${pet} saw ${thing} and ran away with it.`, `${a} and ${b} looked everywhere.`, `At last they found the ${pet} under a tree.`, `The ${pet} was sleeping next to ${thing}.`);
      break;
    case 2: {
      const n = 2 + rng.int(7), m = 1 + rng.int(n - 1);
      s.push(`${a} had ${n} apples.`, `${a} gave ${m} to ${b}.`, `Now ${a} had ${n - m} apples and ${b} had ${m}.`, `They ate them at ${place}.`);
      break;
    }
    default:
      s.push(`${b} was already there, reading a book.`, `"What are you reading?" asked ${a}.`, `"A story about ${art(pet)} ${pet} who lost ${thing}," said ${b}.`, `They read it together until the end.`);
  }
  s.push(pick([`Then ${a} went home.`, `It was a good day.`, `${a} smiled all the way home.`, `The ${pet} was ${pick(feelings)} too.`]));
  return s.join(' ');
}

const parts: string[] = [];
let size = 0;
while (size < 240_000) {
  const p = story();
  parts.push(p);
  size += p.length + 2;
}
writeFileSync(new URL('../data/corpus.txt', import.meta.url), parts.join('\n\n') + '\n');
console.log(`wrote data/corpus.txt: ${parts.length} stories, ${size} characters`);
