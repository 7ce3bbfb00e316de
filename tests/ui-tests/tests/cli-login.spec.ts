/** "Use my Databricks CLI sign-in" in the `open` project (the steps: cliLogin.ts). */
import { cliLoginTests } from './cliLogin';

cliLoginTests();
