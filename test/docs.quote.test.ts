// The doc tests' comparison of a printed line with the value a `// →` comment quotes: numbers
// round to the quoted precision, the text between them must match.
import { describe, expect, it } from 'vitest';
import { matchesQuote } from './docs/blocks';

describe('matchesQuote', () => {
  it('accepts a number that rounds to the quoted digits, and only that', () => {
    expect(matchesQuote('2.112779002636671', '2.1128')).toBe(true);
    expect(matchesQuote('2.112779002636671', '2.1127')).toBe(false);
    expect(matchesQuote('2.112779002636671', '2.2128')).toBe(false);
    expect(matchesQuote('33.1149', '33.11')).toBe(true);
    expect(matchesQuote('-0.33621193790317605', '-0.3362')).toBe(true);
    expect(matchesQuote('0.03648', '0.0365')).toBe(true);
    expect(matchesQuote('1024', '1023')).toBe(false);
  });

  it('compares the text around the numbers', () => {
    expect(matchesQuote('[ 2, 3 ]', '[ 2, 3 ]')).toBe(true);
    expect(matchesQuote('[ 2, 3 ]', '[ 3, 2 ]')).toBe(false);
    expect(matchesQuote('0.3890 1024', '0.3890 1024')).toBe(true);
    expect(matchesQuote('0.3890 1024', '0.3890')).toBe(false);
    expect(matchesQuote('true', 'true')).toBe(true);
    expect(matchesQuote('false', 'true')).toBe(false);
  });
});
