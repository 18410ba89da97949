// zhili report form: fills longitude/latitude from the device (browsers give WGS-84)
// and warns about a photo over the size limit before it is sent. The form works
// without this script: the position can be typed or left empty.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  var lon = document.getElementById("f-lon");
  var lat = document.getElementById("f-lat");
  var status = document.getElementById("locate-status");
  if (button && lon && lat && status && "geolocation" in navigator) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!window.isSecureContext) {
        status.textContent = "定位需通过 HTTPS 访问本系统，请手动填写经纬度或留空";
        return;
      }
      status.textContent = "正在获取位置…";
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lon.value = pos.coords.longitude.toFixed(6);
          lat.value = pos.coords.latitude.toFixed(6);
          // The map pick (map-pick.js) moves its marker to the new position.
          lat.dispatchEvent(new Event("change"));
          status.textContent = "已填入当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
          button.disabled = false;
        },
        function (err) {
          status.textContent = err.code === 1
            ? "未获得定位权限，请手动填写经纬度或留空"
            : "暂时无法获取位置，请手动填写经纬度或留空";
          button.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
  var photo = document.getElementById("f-photo");
  var sizeNote = document.getElementById("photo-size");
  if (photo && sizeNote) {
    var max = Number(photo.getAttribute("data-max-bytes")) || 0;
    photo.addEventListener("change", function () {
      var f = photo.files && photo.files[0];
      sizeNote.textContent = f && max && f.size > max
        ? "这张照片超过 10 MB，无法上传，请换一张或降低相机分辨率"
        : "";
    });
  }
})();
