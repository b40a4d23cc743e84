"""Channel adapters: thin translations between a transport and the engine."""
