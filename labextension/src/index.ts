/**
 * jupyter-dbx-auth for JupyterLab: the "Databricks" sidebar, a status bar item, commands and
 * settings. All state comes from the server extension; no token or secret reaches this code.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Signal } from '@lumino/signaling';

import { DbxAuthApi } from './api';
import { addCommands, CommandIDs } from './commands';
import { DbxPanel } from './components/DbxPanel';
import { DbxStatusItem } from './components/StatusBarItem';
import { DbxAuthModel } from './model/model';
import { snippet } from './model/snippet';
import { insertIntoNotebook } from './notebook';
import { DEFAULT_SETTINGS, IDbxSettings, readSettings } from './settings';

export { API_NAMESPACE, apiUrl } from './urls';
export { CommandIDs } from './commands';

/** The plugin id: the package name and one plugin name (schema/plugin.json). */
export const PLUGIN_ID = 'jupyter-dbx-auth:plugin';

function activate(
  app: JupyterFrontEnd,
  registry: ISettingRegistry | null,
  palette: ICommandPalette | null,
  statusBar: IStatusBar | null,
  tracker: INotebookTracker | null,
  restorer: ILayoutRestorer | null
): DbxAuthModel {
  const api = new DbxAuthApi(app.serviceManager.serverSettings);
  const model = new DbxAuthModel({ api });
  let settings: IDbxSettings = DEFAULT_SETTINGS;
  const statusVisibility = new Signal<unknown, void>(app);

  const insert = (name: string): void => {
    const conn = model.state.connections.find(c => c.name === name);
    const code = snippet(name, {
      form: settings.snippetForm,
      loadExtension: settings.snippetLoadExtension,
      checkLine: settings.snippetCheckLine,
      account: conn?.account ?? false
    });
    const target = tracker ? insertIntoNotebook(tracker, code) : null;
    if (target) {
      app.shell.activateById(target);
    } else {
      Notification.warning('Open a notebook first: the snippet goes into its active cell.', {
        autoClose: 5000
      });
    }
  };

  const panel = new DbxPanel({ model, onInsert: insert });
  app.shell.add(panel, 'left', { rank: 850 });
  restorer?.add(panel, 'jupyter-dbx-auth');

  addCommands({ app, model, panelId: panel.id, insert, palette });

  if (statusBar) {
    const item = new DbxStatusItem({
      model,
      onClick: () => void app.commands.execute(CommandIDs.openPanel)
    });
    statusBar.registerStatusItem('jupyter-dbx-auth:status', {
      item,
      align: 'left',
      rank: 5,
      isActive: () => settings.showStatusBarItem,
      activeStateChanged: statusVisibility
    });
  }

  const apply = (raw: ISettingRegistry.ISettings): void => {
    settings = readSettings(raw.composite as Record<string, unknown>);
    model.setRefreshInterval(settings.refreshInterval);
    statusVisibility.emit();
  };
  model.start(settings.refreshInterval);
  if (registry) {
    registry
      .load(PLUGIN_ID)
      .then(loaded => {
        apply(loaded);
        loaded.changed.connect(apply);
      })
      .catch(reason => console.warn(`${PLUGIN_ID}: settings not loaded`, reason));
  }
  return model;
}

const plugin: JupyterFrontEndPlugin<DbxAuthModel> = {
  id: PLUGIN_ID,
  description: 'Databricks OAuth for Jupyter: sidebar, status bar item and commands.',
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette, IStatusBar, INotebookTracker, ILayoutRestorer],
  activate
};

export default plugin;
