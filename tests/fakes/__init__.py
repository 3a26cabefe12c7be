"""Loopback fakes of external services, speaking each service's wire format over real HTTP."""
