"""The Admin GraphQL operations Worn sends, one named operation per `.graphql` file in this folder."""
