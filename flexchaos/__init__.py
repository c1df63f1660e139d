"""flexchaos: chaos and resilience experiments for Azure VM Scale Sets in Flexible orchestration."""
