/** Put code into the active notebook: its empty active code cell, or a new cell below it. */
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

/** The notebook panel id the code went into, or null when no notebook is open. */
export function insertIntoNotebook(tracker: INotebookTracker, code: string): string | null {
  const panel = tracker.currentWidget;
  if (!panel) {
    return null;
  }
  const notebook = panel.content;
  const active = notebook.activeCell;
  const reuse =
    active !== null &&
    active.model.type === 'code' &&
    active.model.sharedModel.getSource().trim() === '';
  if (!reuse) {
    NotebookActions.insertBelow(notebook);
    NotebookActions.changeCellType(notebook, 'code');
  }
  const cell = notebook.activeCell;
  if (!cell) {
    return null;
  }
  cell.model.sharedModel.setSource(code);
  return panel.id;
}
