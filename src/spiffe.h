/* SPIFFE IDs, the JWT-SVID profile and SPIFFE bundles (../shared/spec/spiffe.md).
 * OWNER: SPIFFE helper — interface to be completed. */
#ifndef DCR_SPIFFE_H
#define DCR_SPIFFE_H

struct dcr_spiffe_trust;

#endif
