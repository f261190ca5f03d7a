PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    goal TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    pid INTEGER,
    header TEXT NOT NULL,
    end_record TEXT
);
INSERT INTO runs VALUES('20261204T140911-d5b340','completed','two echoes','2026-12-04T14:09:11+00:00','2026-12-04T14:09:11+00:00',15000,'{"contract":{"currency":"USD","id":"default","max_calls":null,"max_concurrency":null,"max_input_tokens":null,"max_money":null,"max_output_tokens":null,"max_wall_time_ms":null,"rate_limits":{}},"format":1,"kind":"run","plan":{"goal":"two echoes","steps":[{"depends_on":[],"id":"a","params":{"x":1},"skill":"echo"},{"depends_on":[],"id":"b","params":{"y":"${steps.a.output.x}"},"skill":"echo"}],"version":1},"policy":{"allow_skills":null,"approval_required_for":["destructive"],"approved":[],"deny_skills":[],"network":{"allow":[],"trust_env_proxies":false},"on_step_failure":"stop","repeat_in_flight":false,"retry":{"base_delay_ms":200,"max_attempts":3,"max_delay_ms":10000,"max_retry_after_ms":60000},"timeouts_ms":{}},"seed":7}','{"failed_step":null,"kind":"end","skipped":[],"spent":{"calls":2,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"state":{},"status":"completed"}');
INSERT INTO runs VALUES('20261204T140911-a1bb77','failed','a failure','2026-12-04T14:09:11+00:00','2026-12-04T14:09:11+00:00',15000,'{"contract":{"currency":"USD","id":"default","max_calls":null,"max_concurrency":null,"max_input_tokens":null,"max_money":null,"max_output_tokens":null,"max_wall_time_ms":null,"rate_limits":{}},"format":1,"kind":"run","plan":{"goal":"a failure","steps":[{"depends_on":[],"id":"a","params":{},"skill":"boom"}],"version":1},"policy":{"allow_skills":null,"approval_required_for":["destructive"],"approved":[],"deny_skills":[],"network":{"allow":[],"trust_env_proxies":false},"on_step_failure":"stop","repeat_in_flight":false,"retry":{"base_delay_ms":200,"max_attempts":3,"max_delay_ms":10000,"max_retry_after_ms":60000},"timeouts_ms":{}},"seed":7}','{"failed_step":"a","kind":"end","skipped":[],"spent":{"calls":1,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"state":{},"status":"failed"}');
INSERT INTO runs VALUES('20261204T140911-74b459','running','interrupted','2026-12-04T14:09:11+00:00','2026-12-04T14:09:11+00:00',999999999,'{"contract":{"currency":"USD","id":"default","max_calls":null,"max_concurrency":null,"max_input_tokens":null,"max_money":null,"max_output_tokens":null,"max_wall_time_ms":null,"rate_limits":{}},"format":1,"kind":"run","plan":{"goal":"interrupted","steps":[{"depends_on":[],"id":"a","params":{"x":1},"skill":"echo"},{"depends_on":["a"],"id":"c","params":{"n":1},"skill":"charge"}],"version":1},"policy":{"allow_skills":null,"approval_required_for":["destructive"],"approved":[],"deny_skills":[],"network":{"allow":[],"trust_env_proxies":false},"on_step_failure":"stop","repeat_in_flight":false,"retry":{"base_delay_ms":200,"max_attempts":3,"max_delay_ms":10000,"max_retry_after_ms":60000},"timeouts_ms":{}},"seed":7}',NULL);
CREATE TABLE steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
INSERT INTO steps VALUES('20261204T140911-d5b340','a','{"attempts":[{"attempt":1,"clock":[],"delay_ms":null,"error":null,"state_writes":{}}],"id":"a","kind":"step","outcome":{"attempts":1,"cost":{"calls":1,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"duration_ms":0.114,"error":null,"ok":true,"output":{"x":1},"skill":"echo","skill_version":"0.1.0","step_id":"a","trace_id":null},"params":{"x":1},"skill":"echo"}');
INSERT INTO steps VALUES('20261204T140911-d5b340','b','{"attempts":[{"attempt":1,"clock":[],"delay_ms":null,"error":null,"state_writes":{}}],"id":"b","kind":"step","outcome":{"attempts":1,"cost":{"calls":1,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"duration_ms":0.041,"error":null,"ok":true,"output":{"y":1},"skill":"echo","skill_version":"0.1.0","step_id":"b","trace_id":null},"params":{"y":1},"skill":"echo"}');
INSERT INTO steps VALUES('20261204T140911-a1bb77','a','{"attempts":[{"attempt":1,"clock":[],"delay_ms":null,"error":"SKILL_CRASHED","state_writes":{}}],"id":"a","kind":"step","outcome":{"attempts":1,"cost":{"calls":1,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"duration_ms":0.626,"error":{"category":"PERMANENT","code":"SKILL_CRASHED","details":{"exception_type":"builtins.ValueError"},"message":"boom crashed: ValueError: boom","recovery":"Report it to the skill''s author with details.exception_type and the message.","retry_after_ms":null,"retryable":false},"ok":false,"output":null,"skill":"boom","skill_version":"0.1.0","step_id":"a","trace_id":null},"params":{},"skill":"boom"}');
INSERT INTO steps VALUES('20261204T140911-74b459','a','{"attempts":[],"id":"a","kind":"step","outcome":{"attempts":0,"cost":{"calls":0,"currency":"USD","input_tokens":0,"money":"0","output_tokens":0},"duration_ms":0.0,"error":null,"ok":true,"output":{"x":1},"skill":"echo","skill_version":"0.1.0","step_id":"a","trace_id":null},"params":{"x":1},"skill":"echo"}');
CREATE TABLE started (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
INSERT INTO started VALUES('20261204T140911-74b459','c');
COMMIT;
