"""Built-in offline backends: no keys, no GPU, no network. The default, and a real preview tool."""
