declare module "eslint-scope";
