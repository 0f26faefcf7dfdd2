-- Inventory schema, version 7: alert rules that set an attribute's status.
--
-- A threshold rule that fires puts an attribute into Alert; a rule on
-- absent data puts it into Unknown. The status the agent reports is kept
-- apart (reported_status, reported_reason), and the attribute's status is
-- the rule's while the agent reports Up, the agent's otherwise (a Down
-- port is Down whatever its traffic). Clearing the rule returns the
-- attribute to what the agent reports.
ALTER TABLE attributes ADD COLUMN reported_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attributes ADD COLUMN reported_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE attributes ADD COLUMN rule_name TEXT NOT NULL DEFAULT '';    -- '' when no rule holds the status
ALTER TABLE attributes ADD COLUMN rule_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attributes ADD COLUMN rule_reason TEXT NOT NULL DEFAULT '';
UPDATE attributes SET reported_status = status, reported_reason = status_reason;
