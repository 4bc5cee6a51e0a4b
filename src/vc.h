/* VC-JWT profiles (../shared/spec/oauth_vc.md section 5). OWNER: VC helper — to be completed. */
#ifndef DCR_VC_H
#define DCR_VC_H

struct dcr_vc_trust;

#endif
