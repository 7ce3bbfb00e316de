/** Command palette commands: open the panel, log in, log out, insert the snippet, refresh. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';

import { DbxAuthModel } from './model/model';
import { kindOf } from './model/status';
import { IConnection } from './model/types';

export const CommandIDs = {
  openPanel: 'dbx-auth:open-panel',
  login: 'dbx-auth:login',
  logout: 'dbx-auth:logout',
  insertSnippet: 'dbx-auth:insert-snippet',
  refresh: 'dbx-auth:refresh'
} as const;

export interface ICommandOptions {
  app: JupyterFrontEnd;
  model: DbxAuthModel;
  panelId: string;
  insert: (name: string) => void;
  palette: ICommandPalette | null;
}

const signedIn = (c: IConnection): boolean => ['ok', 'warning', 'refreshing'].includes(kindOf(c));

/** The `name` argument, or the only candidate, or the user's pick among candidates. */
async function pick(
  model: DbxAuthModel,
  args: { name?: unknown },
  title: string,
  candidates: IConnection[]
): Promise<string | null> {
  if (typeof args.name === 'string' && args.name) {
    return args.name;
  }
  if (candidates.length === 0) {
    model.setNotice({ kind: 'info', message: `${title}: no connection fits.`, hint: '' });
    return null;
  }
  if (candidates.length === 1) {
    return candidates[0].name;
  }
  const result = await InputDialog.getItem({
    title,
    items: candidates.map(c => c.name)
  });
  return result.button.accept ? result.value : null;
}

export function addCommands(options: ICommandOptions): void {
  const { app, model, panelId, insert, palette } = options;
  const { commands } = app;
  const conns = (): IConnection[] => model.state.connections;

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Databricks: Open Panel',
    execute: () => app.shell.activateById(panelId)
  });
  commands.addCommand(CommandIDs.login, {
    label: args => (args.name ? `Log in to ${args.name}` : 'Databricks: Log In…'),
    execute: async args => {
      const name = await pick(
        model,
        args,
        'Log in to Databricks',
        conns().filter(c => c.method === 'u2m' && !signedIn(c))
      );
      if (name) {
        await model.login(name);
      }
    }
  });
  commands.addCommand(CommandIDs.logout, {
    label: args => (args.name ? `Log out of ${args.name}` : 'Databricks: Log Out…'),
    execute: async args => {
      const name = await pick(
        model,
        args,
        'Log out of Databricks',
        conns().filter(c => c.method === 'u2m' && kindOf(c) !== 'logged_out')
      );
      if (name) {
        await model.logout(name);
      }
    }
  });
  commands.addCommand(CommandIDs.insertSnippet, {
    label: args =>
      args.name ? `Insert %dbx_connect ${args.name}` : 'Databricks: Insert %dbx_connect…',
    execute: async args => {
      const preferred = conns().filter(signedIn);
      const name = await pick(
        model,
        args,
        'Insert %dbx_connect for',
        preferred.length ? preferred : conns()
      );
      if (name) {
        insert(name);
      }
    }
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Databricks: Refresh Status',
    execute: () => model.refresh(true)
  });

  if (palette) {
    for (const command of Object.values(CommandIDs)) {
      palette.addItem({ command, category: 'Databricks' });
    }
  }
}
