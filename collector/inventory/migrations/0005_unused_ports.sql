-- Inventory schema, version 5: unused ports.
--
-- An interface that has never been up since discovery (an access port with
-- nothing plugged in) is Down, but it must not make its host Down nor count
-- among the Down attributes. never_up is 1 for an interface from its
-- discovery until it is first Up; queries that roll statuses up leave out
-- interfaces that are Down with never_up set. Existing interfaces take it
-- from their history.
ALTER TABLE attributes ADD COLUMN never_up INTEGER NOT NULL DEFAULT 0;
UPDATE attributes SET never_up = 1 WHERE kind = 'interface' AND status != 1
    AND NOT EXISTS (SELECT 1 FROM status_events e WHERE e.attr_id = attributes.id AND (e.new_status = 1 OR e.old_status = 1));
