// Debian's libstb-dev: stb_image (PNG/JPEG/... decoding) and stb_image_write (PNG encoding),
// compiled into libstb.so, so only the declarations are included here.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
