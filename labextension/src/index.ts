import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { apiUrl } from './urls';

export { API_NAMESPACE, apiUrl } from './urls';

/** The plugin id: the package name and one plugin name. */
export const PLUGIN_ID = 'jupyter-dbx-auth:plugin';

/**
 * Activates with JupyterLab. The sidebar, status bar and commands arrive in their own issues.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Databricks OAuth for Jupyter.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const baseUrl = app.serviceManager.serverSettings.baseUrl;
    console.debug(`${PLUGIN_ID} activated; server API at ${apiUrl(baseUrl, 'api')}`);
  }
};

export default plugin;
