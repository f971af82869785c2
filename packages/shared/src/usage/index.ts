/** Usage and spend (CONTRACT.md, "Usage, spend and client budgets"): what a call costs, and how clients are named. */
export * from './client-name.ts';
export * from './cost.ts';
