"""Test doubles that ship for `make demo`, the benchmarks and the tests: a Harvest v3-compatible
local Greenhouse and a deterministic world generator. The domain library never imports them."""
