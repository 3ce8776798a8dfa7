// Loaded before every test file (bunfig.toml). Tests never talk to the network beyond loopback.
process.env.NODE_ENV ??= "test";
