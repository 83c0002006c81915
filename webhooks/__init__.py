"""The HTTP surface of Worn: Shopify webhooks, the embedded admin pages and their API, Lambda entry points."""
