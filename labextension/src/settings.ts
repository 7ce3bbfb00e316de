/** The user settings of schema/plugin.json, read with defaults (bad values fall back). */
import { SnippetForm } from './model/snippet';

export interface IDbxSettings {
  /** Seconds between status requests while the live events stream is down. */
  refreshInterval: number;
  showStatusBarItem: boolean;
  snippetForm: SnippetForm;
  snippetLoadExtension: boolean;
  snippetCheckLine: boolean;
}

export const DEFAULT_SETTINGS: IDbxSettings = {
  refreshInterval: 30,
  showStatusBarItem: true,
  snippetForm: 'magic',
  snippetLoadExtension: true,
  snippetCheckLine: true
};

export function readSettings(raw: Record<string, unknown> | null | undefined): IDbxSettings {
  const get = <K extends keyof IDbxSettings>(
    key: K,
    ok: (value: unknown) => boolean
  ): IDbxSettings[K] => {
    const value = raw?.[key];
    return ok(value) ? (value as IDbxSettings[K]) : DEFAULT_SETTINGS[key];
  };
  const isBool = (v: unknown): boolean => typeof v === 'boolean';
  return {
    refreshInterval: get(
      'refreshInterval',
      v => typeof v === 'number' && Number.isFinite(v) && v >= 5 && v <= 3600
    ),
    showStatusBarItem: get('showStatusBarItem', isBool),
    snippetForm: get('snippetForm', v => v === 'magic' || v === 'python'),
    snippetLoadExtension: get('snippetLoadExtension', isBool),
    snippetCheckLine: get('snippetCheckLine', isBool)
  };
}
