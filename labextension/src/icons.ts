/** The Databricks sidebar icon (three stacked layers; drawn for this extension). */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2.5 21.5 8 12 13.5 2.5 8z"/>
    <path d="M4.3 11.1 12 15.6l7.7-4.5 1.8 1.05L12 17.7l-9.5-5.55z"/>
    <path d="M4.3 15.3 12 19.8l7.7-4.5 1.8 1.05L12 21.9l-9.5-5.55z"/>
  </g>
</svg>`;

export const databricksIcon = new LabIcon({ name: 'jupyter-dbx-auth:databricks', svgstr: svg });
