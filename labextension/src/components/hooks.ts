/** React hooks shared by the panel and the status bar item. */
import { useEffect, useState } from 'react';

import { DbxAuthModel } from '../model/model';

/** Re-render whenever the model changes; returns the model's state. */
export function useModel(model: DbxAuthModel): DbxAuthModel['state'] {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const onChange = (): void => setVersion(v => v + 1);
    model.changed.connect(onChange);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return model.state;
}

/** The current time in milliseconds, updated every `intervalMs` (for countdowns). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
