/** "Use my Databricks CLI sign-in" with the Jupyter token and XSRF on (the steps: cliLogin.ts). */
import { cliLoginTests } from './cliLogin';

cliLoginTests();
