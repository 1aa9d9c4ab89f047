-- The latest health report of each volunteer (JSON validated by the protocol's health schema).
ALTER TABLE nodes ADD COLUMN health TEXT;
