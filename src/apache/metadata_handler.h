/* SetHandler dcr-metadata: the authorization server's metadata document (RFC 8414 or OpenID
 * Connect discovery) as src/as_metadata.c rewrites it for this module. */
#ifndef DCR_AP_METADATA_HANDLER_H
#define DCR_AP_METADATA_HANDLER_H

/* Registers the handler hook (from the module's register_hooks). */
void dcr_ap_register_metadata_handler(void);

#endif
