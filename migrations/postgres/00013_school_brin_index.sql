-- +goose Up
-- Opening a case names the school by its organisation ID or its BRIN, in
-- any case (Store.School). The directory holds every school of the chain,
-- thousands: found by index, not read whole for each opening.
CREATE INDEX organisations_brin ON organisations (upper(brin));

-- +goose Down
DROP INDEX organisations_brin;
