export { loadConfig, type LoadConfigOptions } from './load.js';
export { configSchema, DATA_DIR_TOKEN, SUITES, LOG_LEVELS, RSA_BITS, type Config, type ConfigOverrides } from './schema.js';
export { configFields, describeConfig, type FieldDescription, type FieldInfo, type ValueType } from './fields.js';
export { readEnv, convertEnvValue, type Environment, type EnvReading, type ValueSource } from './env.js';
export { envName, upperSnake, ENV_PREFIX, ENV_SEPARATOR } from './env-name.js';
export { ConfigError, configError, type ConfigProblem } from './errors.js';
export { CONFIG_DEFAULTS, pickFields } from './defaults.js';
