/** Small text helpers shared by the panel's views. */
import * as React from 'react';

/** The server's words with their `backquoted` parts (commands, names) as code. */
export function withCode(text: string): React.ReactNode[] {
  return text.split('`').map((part, i) => (i % 2 ? <code key={i}>{part}</code> : part));
}
