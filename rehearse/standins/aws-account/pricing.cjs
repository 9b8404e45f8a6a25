"use strict";
// The Price List Query API, as `npm run cost -- --update-prices <region> --query-api` reads it:
// get-products answers the account's products (the priceList collection) of the service code that
// match every TERM_MATCH filter, each as a JSON string, as the API sends them.

/** A filter's field is the product's family (productFamily) or one of its attributes. */
const fieldOf = (product, field) => (field === "productFamily" ? product.productFamily : product.attributes?.[field]);

function getProducts(ctx) {
  const serviceCode = ctx.one("service-code", true);
  const filters = JSON.parse(ctx.one("filters") ?? "[]");
  const other = filters.find((f) => f.Type !== "TERM_MATCH");
  if (other) ctx.fail("InvalidParameterException", `Filter type ${other.Type} is not supported`);
  const matches = ctx.account
    .list("priceList")
    .filter((entry) => entry.serviceCode === serviceCode && filters.every((f) => fieldOf(entry.product, f.Field) === f.Value));
  return { FormatVersion: ctx.one("format-version") ?? "aws_v1", PriceList: matches.map((entry) => JSON.stringify(entry)) };
}

module.exports = { "get-products": getProducts };
