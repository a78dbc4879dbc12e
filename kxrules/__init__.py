"""kxrules: a declarative KRX/NXT cross-venue arbitrage rule engine for Kiwoom OpenAPI+."""
__version__ = "0.1.0"
